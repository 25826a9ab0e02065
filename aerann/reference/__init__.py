"""NumPy references: plain, readable implementations the Aesara graphs are checked against."""
