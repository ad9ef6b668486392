"""Instruments: the questionnaire files a school uses, checked and stored (commands for now;
the loading and checking itself is the core's questionnaires package)."""
