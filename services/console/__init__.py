"""The web console: staff, police coordinators, auditors and programme managers do their
work in a browser. Server-rendered pages (FastAPI + Jinja2), no JavaScript, every asset
served from here; it reads and acts through the owning services' HTTP APIs with the
signed-in user's identity. Its only data is its sessions, in its own schema."""
