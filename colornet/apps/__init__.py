"""The applications: the apps layer, what a user runs, above training and below the command line.

It owns colorizing photos (`colorize`, and whole folders of them in `jobs`), videos (`video`),
the web page (`web`), scoring a model on held-out photos (`evaluation`), cleaning a raw folder
into training data (`prepare`), Version 1 on one photo (`single_image`), the figures
(`plotting`), the fusion ablation on real photos (`ablation`, `real_photos`);
`colornet.pretrained.recipe`, which trains and writes the shipped colorizer, belongs to it too.
It may import the core, colornet.io, colornet.nets and colornet.train, never the command line.
"""
