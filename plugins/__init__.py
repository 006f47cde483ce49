"""The built-in domain plugins. Each folder is one domain with its whole stack, in the layers of
the skeleton (`kinds`, `tools`, `resources`, `assets`, `api`, `studio`, `cli`), plugged in through
the same entry points and hooks (`lifeos.hookspecs`) as anyone's plugin: no path here is
privileged, and disabling a plugin takes every part of it away."""
