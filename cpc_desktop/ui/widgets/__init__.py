"""Field editor widgets generated from form definitions (one per field type)."""
from .fields import (ChoiceEditor, DateEditor, FieldEditor, LongTextEditor, MultiChoiceEditor,
                     NumberEditor, TextEditor, TimeEditor, YesNoEditor, editor_for)
from .place import PlaceEditor

__all__ = ["ChoiceEditor", "DateEditor", "FieldEditor", "LongTextEditor", "MultiChoiceEditor",
           "NumberEditor", "PlaceEditor", "TextEditor", "TimeEditor", "YesNoEditor", "editor_for"]
