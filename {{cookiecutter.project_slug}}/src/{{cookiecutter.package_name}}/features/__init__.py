"""Feature tables and the point-in-time lookup that builds model inputs from them."""
