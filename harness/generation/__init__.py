"""Generation through the response store: the store and its records (`store`), the one loop that
answers requests from the store and generates only what it lacks (`loop`), and that loop spread
over Ray workers (`ray`)."""
