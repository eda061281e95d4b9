"""ml layer of promethium_lab."""
