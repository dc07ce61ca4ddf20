"""Marks the wheel as platform-specific: it carries a native automigrate.so.

The extension does not use Python's C API, so the wheel is tagged
py3-none-<platform> (any Python 3 on this platform), as sqlite-vec's are, rather
than py3-none-any (which pip would install anywhere) or cp3XX-cp3XX-<platform>.
"""

from setuptools import Distribution, setup

try:  # setuptools >= 70.1 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # Debian 12: the wheel package's
    from wheel.bdist_wheel import bdist_wheel


class BinaryDistribution(Distribution):
    # The .so is package data, not an extension setuptools builds; saying there
    # are extension modules makes the wheel non-pure (platlib, a platform tag).
    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})
