"""Feature controllers: each owns one area of the window's behaviour and registers its
commands; they share an :class:`inspector.gui.context.AppContext`, not the window."""
