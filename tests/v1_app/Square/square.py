"""Activity: the square of a number (another scriptFile and entryPoint than the defaults)."""


def square(value: int) -> int:
    return value * value
