"""The handlers of the 18 API calls, one module per area, over one simulator's state."""
