"""Images the network makes: Gatys style transfer and feature visualisation. Qt-free.

Both optimise an input image against losses on chosen layers' activations of a design with
weights (a run's checkpoint, loaded weights, or pretrained weights asked for explicitly):

* :mod:`network` builds the model once, frozen, and reads chosen layers through forward hooks,
  stopping the forward pass after the last layer needed (so any image size works for the
  convolutional part, and a VGG's classifier is never run).
* :mod:`style` is neural style transfer (content loss on activations, style loss on Gram
  matrices; L-BFGS or Adam), :mod:`visualize` the image that most excites each filter, channel or
  class logit, with the robustness and Fourier parameterisation that make it readable.
* :mod:`images` reads and writes image files, :mod:`progress` is the event each step reports,
  :mod:`control` is the pause/stop flag shared with the studio's runner, :mod:`jobs` runs both as
  jobs of that runner, and :mod:`pretrained` maps torchvision's ImageNet weights onto a design's layers.
"""
