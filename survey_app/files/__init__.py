"""Files that leave the app: cells of CSV and XLSX exports made safe to open (cells.py).
Pure code, no Flask."""
