"""jobs layer of promethium_lab."""
