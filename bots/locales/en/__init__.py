"""English — complete: every Korean text has its English twin, in the module of the same name, under the
same key and with the same placeholders.
"""
