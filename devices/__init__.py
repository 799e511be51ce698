"""What each piece of hardware speaks: byte-stream decoders, scale factors and device profiles (numpy only)."""
