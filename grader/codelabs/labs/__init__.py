"""One module per coding lab (``LAB = ...``), with its files in a folder of the same slug."""
