"""signal layer of promethium_lab."""
