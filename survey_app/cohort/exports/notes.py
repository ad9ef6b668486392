"""The words that travel with every cohort export: what was selected, and how to read it."""

from __future__ import annotations

from ...charts.cohort_layout import local_time, round_text
from ...scoring.cohort_report import CohortReport

TITLE = "Cohort change report"
BLANK_NOTE = ("Blank cells are withheld, or could not be worked out (for example a p-value when every "
              "pupil changed by exactly the same amount).")


def about_lines(report: CohortReport) -> list[tuple[str, str]]:
    """Return (label, value) pairs describing the report: selection, rounds, date, version."""
    lines = [
        ("Selection", report.selection_label),
        ("Rounds", round_text(report)),
        ("Made", local_time(report.generated_at, report.timezone).strftime("%-d %B %Y, %H:%M")),
        ("Questionnaire", f"{report.questionnaire_key} version {report.questionnaire_version}"
                          + (f" (content {report.questionnaire_hash[:12]})" if report.questionnaire_hash else "")),
        ("Pupils in the selection", "withheld" if report.main.n_pupils is None else str(report.main.n_pupils)),
        ("Small numbers", report.suppression_note),
    ]
    if report.protected:
        lines.append(("Privacy", report.privacy_note))
    if len(report.subgroups) >= 2:
        lines.insert(1, ("Sub-groups compared", " and ".join(g.label for g in report.subgroups)))
    return lines


def method_notes(report: CohortReport) -> list[tuple[str, str]]:
    """Return 'How to read this' as (heading, plain-English paragraph) pairs."""
    bands = ", ".join(report.bands)
    notes = [
        ("Who is compared",
         "Only pupils who answered in both rounds (the first round and the later round) are compared, so each "
         "change is about the same pupils. Pupils who answered only in the first round are counted as lost. "
         "If many were lost, the change may not describe the whole group."),
        ("Mean change and its 95% confidence interval",
         "Each pupil's change is their later score minus their first score, in points on the 0 to 100 scale. "
         "The mean change is the average of these. The 95% confidence interval (CI) is the range of mean changes "
         "that fit the data: when it does not include zero, the change is unlikely to be chance alone."),
        ("Effect size d_z",
         "d_z is the mean change divided by the standard deviation (SD) of the pupils' changes. As a "
         "rough guide, 0.2 is a small effect, 0.5 a medium one and 0.8 a large one."),
        ("Wilcoxon signed-rank test",
         "A check on the same question that does not assume the changes follow a bell curve. If it disagrees "
         "with the confidence interval, read that factor's result with care."),
        ("Holm correction across the nine factors",
         "Testing nine factors at once makes it likely that one looks different by chance. The Holm method "
         "adjusts the p-values across the nine factors; an adjusted p-value below 0.05 is shown as a clear "
         "change (bold in the chart of change)."),
        ("Reliable change for each pupil",
         "The Jacobson\u2013Truax reliable change index compares a pupil's change with the change that "
         "measurement error alone could produce, worked out from the factor's Cronbach's alpha and the spread "
         "of first-round scores. A change more than 1.96 times that error is counted as a reliable improvement "
         "or a reliable decline; anything smaller is no reliable change."),
        ("Cronbach's alpha",
         "Alpha (0 to 1) shows how consistently a factor's statements measure the same thing in these pupils' "
         "answers. About 0.7 or more is usually taken as acceptable; a low alpha makes reliable change harder "
         "to show."),
        ("Bands",
         f"The bands ({bands}, from lowest to highest) use the cut-offs set for this questionnaire. They are "
         "our own thresholds, not national norms. Moving up means moving to a more positive band."),
        ("Small numbers", f"{report.suppression_note} {BLANK_NOTE}"),
    ]
    if report.protected:
        notes.append(("Privacy of pupils you may not see one by one",
                      f"{report.privacy_note} Figures that include pupils a school does not share with you are "
                      "worked out from adjusted scores and counts, so that no combination of figures, files or "
                      "charts can reveal one pupil."))
    notes += [("Note", text) for text in report.notes]
    return notes
