"""Privacy of aggregates: suppression of small numbers and disclosure control.

Pure code (no Flask, no area). A figure is *protected* when it counts at least one pupil
whom the viewer may not see one by one; protected figures are perturbed (disclosure.py,
with the record keys of keys.py) after suppression (suppression.py) and rounded to what
is shown. Figures about pupils the viewer can see one by one stay exact.
"""
