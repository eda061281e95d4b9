"""server layer of promethium_lab."""
