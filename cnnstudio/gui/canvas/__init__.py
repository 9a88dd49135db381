"""The graph canvas: a QGraphicsScene mirroring the design and the view that shows it."""
