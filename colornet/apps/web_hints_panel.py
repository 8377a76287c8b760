"""The hint panel's Gradio components and events (`colornet.apps.web_hints` does the work).

A photo of its own (one upload), the hint-aware models among those served, what a click on
the photo does (add or select a point, move the selected one, remove one), the selected
point's colour as a picker and as "#rrggbb" text, Remove and Undo, the clickable photo with
its points drawn, and the downloads (the result at full resolution and hints.json). Without a
hint-aware model it says how to serve one. Imported by `colornet.apps.web`, after Gradio.
"""

import logging
import pathlib
import time
import types

import gradio as gr

from colornet.apps import web_hints, web_work
from colornet.io import decode, folders

_log = logging.getLogger("colornet.apps.web")

NO_HINT_MODEL_TEXT = """\
**No model here takes point hints.** The colorizer that ships with colornet is not yet trained
with them. Serve a hint-aware model (`lite_unet.trunk(hints=True)`, trained with simulated
hints) to steer the colours by clicking: `colornet serve --model hinted.keras`.
"""


def build(served, limits):
    """The panel, inside the page's Blocks; nothing but a note without a hint-aware model."""
    takers = web_hints.hint_models(served)
    with gr.Accordion("Steer the colours: click to place point hints", open=bool(takers),
                      elem_id="hints-panel"):
        if not takers:
            gr.Markdown(NO_HINT_MODEL_TEXT, elem_id="no-hint-model")
            return
        parts = _layout(list(takers))
    _wire(parts, _Callbacks(takers, limits))


def _layout(labels):
    """The panel's components, as a namespace."""
    parts = types.SimpleNamespace()
    with gr.Row():
        with gr.Column(scale=1):
            parts.upload = gr.File(label="A photo to steer", file_count="single",
                                   file_types=list(folders.IMAGE_SUFFIXES), type="filepath",
                                   elem_id="hint-upload")
            parts.choice = gr.Dropdown(labels, value=labels[0], label="Hint-aware model",
                                       elem_id="hint-model")
            parts.mode = gr.Radio(list(web_hints.CLICK_MODES), value=web_hints.ADD,
                                  label="A click on the photo", elem_id="hint-mode")
            parts.picker = gr.ColorPicker(label="The selected point's colour",
                                          elem_id="hint-colour")
            parts.typed = gr.Textbox(label="or as #rrggbb (Enter)", max_lines=1,
                                     elem_id="hint-colour-text")
            with gr.Row():
                parts.remove = gr.Button("Remove the selected point", elem_id="hint-remove")
                parts.undo = gr.Button("Undo", elem_id="hint-undo")
            parts.points = gr.Markdown(elem_id="hint-points")
            parts.status = gr.Markdown(elem_id="hint-status")
        with gr.Column(scale=2):
            parts.photo = gr.Image(label="Click on the photo to place a point",
                                   type="filepath", interactive=False, elem_id="hint-photo")
            parts.downloads = gr.File(label="Downloads: the result (full resolution) and its "
                                            "hints (colornet colorize --hints)",
                                      file_count="multiple", interactive=False,
                                      elem_id="hint-downloads")
    parts.session = gr.State(None)
    return parts


def _wire(parts, callbacks):
    outputs = [parts.session, parts.photo, parts.downloads, parts.points, parts.status,
               parts.picker, parts.typed]
    options = {"outputs": outputs, "api_visibility": "private", "concurrency_limit": 1}
    parts.upload.change(callbacks.begin, inputs=[parts.upload, parts.choice], **options)
    parts.photo.select(callbacks.clicked, inputs=[parts.session, parts.mode, parts.choice],
                       **options)
    for colour, event in ((parts.picker, parts.picker.input), (parts.typed, parts.typed.submit)):
        event(callbacks.coloured, inputs=[parts.session, colour, parts.choice], **options)
    for button, action in ((parts.remove, web_hints.remove_selected),
                           (parts.undo, web_hints.undo)):
        button.click(callbacks.acting(action), inputs=[parts.session, parts.choice], **options)
    parts.choice.change(callbacks.acting(lambda state: True),
                        inputs=[parts.session, parts.choice], **options)


class _Callbacks:
    """What the panel's events do, each returning the panel's outputs: (session, the marked
    photo, the downloads, the points, the status line, the picker's and the text's colour)."""

    def __init__(self, takers, limits):
        self.takers, self.limits = takers, limits

    def answer(self, state, label, changed=True):
        """The outputs for `state`: colorized again when its hints `changed`, else only its
        points drawn again (a click that selected one)."""
        if state is None:
            return [None, None, None, "", "", gr.update(), gr.update()]
        if label not in self.takers:
            raise _refusal(f"no hint-aware model called {label!r}")
        started = time.perf_counter()
        marked, download, hints_file = web_hints.render(self.takers[label], state,
                                                        self.limits.working_size, changed)
        count = len(state.hints)
        line = (f"Colorized with {count} point{'s' * (count != 1)} in "
                f"{time.perf_counter() - started:.1f} s." if changed else "Selected.")
        colour = state.hints[state.selected][2] if state.selected is not None else None
        same = gr.update(value=colour) if colour else gr.update()
        return [state, str(marked), [str(download), str(hints_file)],
                web_hints.points_text(state), line, same, same]

    def begin(self, path, label):
        if not path:
            return self.answer(None, label)
        try:
            state = web_hints.start(path, web_work.new_result_folder(), self.limits.max_pixels,
                                    pathlib.Path(path).name)
        except decode.ImageError as error:
            raise _refusal(str(error)) from None
        return self.answer(state, label)

    def clicked(self, state, mode, label, event: gr.SelectData):
        if state is None or not isinstance(event.index, (list, tuple)):
            return self.answer(state, label, changed=False)
        x, y = event.index[:2]
        predicted = web_hints.predicted_colour(state, x, y)
        return self.answer(state, label, web_hints.click(state, x, y, mode, predicted))

    def coloured(self, state, colour, label):
        if state is None:
            return self.answer(state, label, changed=False)
        try:
            changed = web_hints.set_colour(state, colour)
        except ValueError as error:
            raise _refusal(str(error)) from None
        return self.answer(state, label, changed)

    def acting(self, action):
        """A callback that applies `action(state)` (true when the hints changed)."""

        def run(state, label):
            if state is None:
                return self.answer(state, label, changed=False)
            return self.answer(state, label, action(state))

        return run


def _refusal(message):
    _log.info("refused: %s", message)
    return gr.Error(message, duration=10, print_exception=False)
