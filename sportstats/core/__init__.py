"""The core: the data endpoints declared as data (`endpoints`) with what differs between them
(`policy`), the parameter contract (`params`), flat tables (`tables`), and answering a question
through the cache and the upstream (`answers`). It knows no surface."""
