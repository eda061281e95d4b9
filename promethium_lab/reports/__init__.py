"""reports layer of promethium_lab."""
