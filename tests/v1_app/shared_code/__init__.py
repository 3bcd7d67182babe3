"""Code shared by the functions, imported relatively (`from ..shared_code import`) and absolutely."""
