"""widgets layer of promethium_lab."""
