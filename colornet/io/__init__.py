"""Photos on disk: the io layer, above colornet's core and below everything else.

It owns reading any common image file into float RGB in [0, 1] with one-line errors
(`decode`), listing folders of photos, resizing and cropping arrays, saving results, telling
grey photos from colour ones (`greyness`); `colornet.corpus`, which gathers real photos,
belongs to it too. It may import the core (`colornet.constants`, `color`, `metrics`,
`_util`, `leftovers`, `progress`) and nothing above: no network, training or application.
"""
