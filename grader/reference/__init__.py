"""Reference implementations (numpy) that problems and coding labs are graded against.

Every convention that differs between libraries is written once in ``grader/CONVENTIONS.md``.
"""

# --- convolution, pooling, sizes, costs, filters ---
# "x as x" marks an explicit re-export (no F401 without __all__); "isort: split" keeps this block
# sorted on its own, independent of the section below.
from .conv import avg_pool2d as avg_pool2d
from .conv import bed_of_nails_upsample as bed_of_nails_upsample
from .conv import conv2d as conv2d
from .conv import conv_transpose2d as conv_transpose2d
from .conv import max_pool2d as max_pool2d
from .conv import max_unpool2d as max_unpool2d
from .conv import nearest_upsample as nearest_upsample
from .cost import LayerCost as LayerCost
from .cost import NetworkCost as NetworkCost
from .cost import Stack as Stack
from .cost import alexnet as alexnet
from .cost import conv_layer_cost as conv_layer_cost
from .cost import inception_5x5_direct as inception_5x5_direct
from .cost import inception_5x5_reduced as inception_5x5_reduced
from .cost import linear_layer_cost as linear_layer_cost
from .cost import mobilenet_separable_block as mobilenet_separable_block
from .cost import network_cost as network_cost
from .cost import pool_layer_cost as pool_layer_cost
from .cost import resnet_bottleneck_block as resnet_bottleneck_block
from .cost import resnext_block as resnext_block
from .cost import standard_conv_block as standard_conv_block
from .cost import to_kb as to_kb
from .cost import to_kib as to_kib
from .cost import to_mb as to_mb
from .cost import to_mib as to_mib
from .cost import vgg16 as vgg16
from .filters import SobelGradients as SobelGradients
from .filters import apply_filter as apply_filter
from .filters import box_kernel as box_kernel
from .filters import gaussian_kernel as gaussian_kernel
from .filters import identity_kernel as identity_kernel
from .filters import laplacian_kernel as laplacian_kernel
from .filters import median_filter as median_filter
from .filters import sharpen_kernel as sharpen_kernel
from .filters import sobel_gradients as sobel_gradients
from .filters import sobel_kernel as sobel_kernel
from .sizes import LayerRF as LayerRF
from .sizes import ReceptiveField as ReceptiveField
from .sizes import RFLayer as RFLayer
from .sizes import conv_output_size as conv_output_size
from .sizes import conv_transpose_output_size as conv_transpose_output_size
from .sizes import pool_output_size as pool_output_size
from .sizes import receptive_field as receptive_field

# isort: split

# --- losses, activations, detection metrics and targets, optimizers, segmentation metrics ---
from .anchors import AnchorLabels, label_anchors, yolo_cell_target  # noqa: F401 (re-exports)
from .detection import (  # noqa: F401 (re-exports)
    COCO_IOU_THRESHOLDS,
    COCO_RECALL_THRESHOLDS,
    ClassEvaluation,
    CocoEvaluation,
    DetectionEvaluation,
    DetectionMatch,
    average_precision,
    box_iou,
    coco_map,
    evaluate_detections,
    nms,
)
from .functional import (  # noqa: F401 (re-exports)
    binary_cross_entropy,
    cross_entropy,
    entropy,
    kl_divergence,
    leaky_relu,
    leaky_relu_grad,
    log_softmax,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_cross_entropy,
    tanh,
    tanh_grad,
)
from .optim import adam_step, momentum_step, rmsprop_step, rmsprop_step_slides, sgd_step  # noqa: F401
from .segmentation import (  # noqa: F401 (re-exports)
    confusion_matrix,
    dice_per_class,
    frequency_weighted_iou,
    iou_per_class,
    mean_class_accuracy,
    mean_iou,
    pixel_accuracy,
)
from .yolo import centre_to_corners, corners_to_centre, decode_box_deltas, encode_box_deltas  # noqa: F401
