from setuptools import setup

setup(cffi_modules=["core/filters/_gcs_build.py:ffibuilder"])
