"""One module per resource; each exposes `router`. The app includes every module found here,
so adding a resource never means editing a shared list."""
