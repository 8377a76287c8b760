"""Training: the train layer, above the networks and below the applications.

It owns the settings of both versions (`settings`), the training data on disk (`data`,
`crops`, and `pipeline`, which streams crops of any number of photos), the run folder
(`runs`) and its training state (`state`, one file for any number of processes), stopping a
diverged run (`stopping`), training on several processes (`distributed`) and the final
version's training loop (`loop`); `colornet.pretrained.settings`, the shipped colorizer's
recipe settings, belongs to it too. It may import the core, colornet.io and colornet.nets, and
nothing above: no application and no command line.
"""
