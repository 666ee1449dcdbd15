"""Reading images and coordinate files; writing tables and graphs, always atomically."""
