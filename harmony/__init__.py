"""The music engine: chord symbols, keys, reharmonisation rules, style profiles, search and guitar voicings.

Pure Python with no Azure imports, so it runs and is tested without any Functions host.
"""

ENGINE_VERSION = "harmony/1.0"
