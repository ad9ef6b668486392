"""The demo partnership: schools, pupils, groups, staff and rounds with plausible answers."""
