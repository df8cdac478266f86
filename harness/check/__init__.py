"""`harness check`: accept or reject a result bundle (`checker`)."""
