"""Loopback test doubles of the outside world (GitHub, Qualtrics, Kyma's publisher and registry).

Each double follows a published contract from ../shared and says which one in its docstring.
"""
