"""io layer of promethium_lab."""
