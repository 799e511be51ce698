"""Files: the crash-safe recording format, EDF/BDF, CSV and safe outputs."""
