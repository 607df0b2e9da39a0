"""In-process event bus with sequence numbers and a bounded replay buffer."""
