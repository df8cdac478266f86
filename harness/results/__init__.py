"""The result bundle: its format (`format`: file names, schema), the figures (`metrics`,
`summary`), writing it (`writer`), packing it with submission metadata (`bundle`) and the
human-readable report (`report`)."""
