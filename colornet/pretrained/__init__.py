"""The pretrained colorizer that ships with colornet, and the recipe that trains it."""
