import CIB
