# Sample skel for the Hearth demo: every new home starts with this file.
export EDITOR=vi
