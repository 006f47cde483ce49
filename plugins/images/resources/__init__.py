"""The images plugin's resources: the image generators (local diffusers, AUTOMATIC1111) and
the CLIP vocabulary the composer counts tokens with."""
