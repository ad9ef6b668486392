"""Paper answers: typed in by staff from a pupil's paper form, or imported from a CSV.

Both continue the pupil's online response when there is one: answers merge by sequence
number, and staff answers carry the time they were saved, so they count as the newest.
The response records who entered it ('staff' or 'import'), and finishing stores factor
scores with the same scoring code as an online finish. A finished response never changes.

Paper is often typed in after a round has closed, so staff may enter answers to an open
or a closed round; only a round that has not opened yet refuses them.
"""

from .entry import (
    PaperSave,
    check_can_enter,
    check_chosen,
    ensure_response,
    how_entered,
    questionnaire_for,
    response_of,
    round_pupil_or_404,
    save_paper_answers,
)
from .importing import (
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    UPN_HEADER,
    AnswersCheck,
    CheckedRow,
    ImportFileError,
    ImportResult,
    RowProblem,
    check_answers_csv,
    column_letter,
    import_answer_rows,
    read_upload,
    scale_hint,
    scale_reader,
    template_upns,
)

__all__ = [
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "UPN_HEADER",
    "AnswersCheck",
    "CheckedRow",
    "ImportFileError",
    "ImportResult",
    "PaperSave",
    "RowProblem",
    "check_answers_csv",
    "check_can_enter",
    "check_chosen",
    "column_letter",
    "ensure_response",
    "how_entered",
    "import_answer_rows",
    "questionnaire_for",
    "read_upload",
    "response_of",
    "round_pupil_or_404",
    "save_paper_answers",
    "scale_hint",
    "scale_reader",
    "template_upns",
]
