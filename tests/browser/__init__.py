"""Browser tests of the pupil survey: headless Chromium driven by Playwright."""
