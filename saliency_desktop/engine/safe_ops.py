"""TensorFlow op names for the SavedModel check (`savedmodel_scan`): what may run untrusted.

`ALLOWED` is a conservative allow-list: ops that compute on tensors in memory (math, array,
NN, image resizing, random numbers, control flow, in-memory lists and variables). Every op that
`model.export()` / `tf.saved_model.save` write for the Keras Applications (MobileNetV2/V3,
ResNet50, EfficientNetB0, VGG16, DenseNet121, Xception, ConvNeXtTiny, InceptionV3), the two
embedded models and a model with LSTM, attention, normalisation, resizing and transposed
convolutions is here, with their gradient ops. Anything else is reported, so a new op costs a
question ("trust this model?"), never a silent run.

`DANGER` names ops known to reach outside the model, with what they do, for the message.
"""

from __future__ import annotations

_MATH = """
Abs Acos Acosh Add AddN AddV2 Angle Asin Asinh Atan Atan2 Atanh BitwiseAnd BitwiseOr BitwiseXor
Cast Ceil ClipByValue Complex ComplexAbs Conj Cos Cosh Cumprod Cumsum Digamma Div DivNoNan Elu
Equal Erf Erfc Erfinv Exp Expm1 Floor FloorDiv FloorMod Greater GreaterEqual Imag Inv Invert
IsFinite IsInf IsNan LeakyRelu LeftShift Less LessEqual Lgamma Log Log1p LogicalAnd LogicalNot
LogicalOr Maximum Minimum Mod Mul MulNoNan Neg NotEqual Pow Real RealDiv Reciprocal Relu Relu6
RightShift Rint Round Rsqrt Select SelectV2 Selu Sigmoid Sign Sin Sinh Softplus Softsign Sqrt
Square SquaredDifference Sub Tan Tanh TruncateDiv TruncateMod Xdivy Xlog1py Xlogy
All Any ArgMax ArgMin EuclideanNorm Max Mean Min Prod Sum
BatchMatMul BatchMatMulV2 BatchMatMulV3 Einsum MatMul MatrixBandPart MatrixDiagPartV3
MatrixDiagV3 MatrixSetDiagV3
"""
_ARRAY = """
Assert BatchToSpaceND Bitcast BroadcastArgs BroadcastGradientArgs BroadcastTo CheckNumerics
Concat ConcatOffset ConcatV2 Const DepthToSpace Empty EnsureShape ExpandDims
ExtractImagePatches Fill Gather GatherNd GatherV2 Identity IdentityN InTopKV2
InvertPermutation LinSpace MirrorPad NoOp OneHot OnesLike Pack Pad PadV2 Placeholder
PlaceholderWithDefault PreventGradient Range Rank Reshape Reverse ReverseV2 ScatterNd Shape
ShapeN Size Slice Snapshot SpaceToBatchND SpaceToDepth Split SplitV Squeeze StopGradient
StridedSlice StridedSliceGrad StringFormat TensorScatterAdd TensorScatterUpdate Tile TopKV2
Transpose Unique Unpack Where ZerosLike
"""
_NN = """
AvgPool AvgPool3D AvgPoolGrad BiasAdd BiasAddGrad BiasAddV1 Conv Conv2D Conv2DBackpropFilter
Conv2DBackpropInput Conv3D Conv3DBackpropInputV2 CropAndResize DepthwiseConv2dNative
DepthwiseConv2dNativeBackpropFilter DepthwiseConv2dNativeBackpropInput Dilation2D EluGrad
FusedBatchNorm FusedBatchNormGradV3 FusedBatchNormV2 FusedBatchNormV3 L2Loss LRN LeakyReluGrad
LogSoftmax MaxPool MaxPool3D MaxPoolGrad MaxPoolGradV2 MaxPoolV2 MaxPoolWithArgmax
ReciprocalGrad Relu6Grad ReluGrad ResizeArea ResizeBicubic ResizeBilinear ResizeBilinearGrad
ResizeNearestNeighbor ResizeNearestNeighborGrad RsqrtGrad ScaleAndTranslate SeluGrad
SigmoidGrad Softmax SoftplusGrad SoftsignGrad SqrtGrad TanhGrad
RandomStandardNormal RandomUniform RandomUniformInt StatelessRandomGetKeyCounter
StatelessRandomGetKeyCounterAlg StatelessRandomNormal StatelessRandomNormalV2
StatelessRandomUniform StatelessRandomUniformV2 StatelessTruncatedNormalV2 TruncatedNormal
"""
_FLOW = """
Case Enter Exit If LoopCond Merge NextIteration PartitionedCall StatefulPartitionedCall
StatelessCase StatelessIf StatelessWhile Switch While
EmptyTensorList TensorListConcatV2 TensorListElementShape TensorListFromTensor
TensorListGather TensorListGetItem TensorListLength TensorListPopBack TensorListPushBack
TensorListReserve TensorListResize TensorListScatterIntoExistingList TensorListSetItem
TensorListSplit TensorListStack
TensorArrayConcatV3 TensorArrayGatherV3 TensorArrayGradV3 TensorArrayReadV3
TensorArrayScatterV3 TensorArraySizeV3 TensorArraySplitV3 TensorArrayV3 TensorArrayWriteV3
AssignAddVariableOp AssignSubVariableOp AssignVariableOp DestroyResourceOp ReadVariableOp
ResourceGather VarHandleOp VarIsInitializedOp
HashTableV2 LookupTableFindV2 LookupTableImportV2 LookupTableSizeV2
"""
ALLOWED = frozenset((_MATH + _ARRAY + _NN + _FLOW).split())

# tf.print's output streams that are not files (anything else, e.g. "file:///...", is a file)
PRINT_STREAMS = frozenset(
    ("stdout", "stderr", "log(info)", "log(warning)", "log(error)", "log(fatal)")
)

_WRITES = "writes files"
_READS = "reads files"
_PYTHON = "runs Python code"
_NETWORK = "talks to other processes or machines"
DANGER: dict[str, str] = {
    **dict.fromkeys(
        """WriteFile Save SaveV2 SaveSlices MergeV2Checkpoints DeleteFile CacheDataset
        CacheDatasetV2 SaveDataset SaveDatasetV2 SnapshotDataset SnapshotDatasetV2
        DatasetToTFRecord ExperimentalDatasetToTFRecord DebugIdentity DebugIdentityV2
        DebugIdentityV3 CreateSummaryFileWriter CreateSummaryDbWriter WriteSummary
        WriteScalarSummary WriteImageSummary WriteHistogramSummary WriteAudioSummary
        WriteGraphSummary WriteRawProtoSummary ImportEvent FlushSummaryWriter""".split(),
        _WRITES,
    ),
    **dict.fromkeys(
        """ReadFile MatchingFiles Restore RestoreV2 RestoreSlice FixedLengthRecordReaderV2
        TFRecordReaderV2 TextLineReaderV2 WholeFileReaderV2 IdentityReaderV2 LMDBReader
        ReaderReadV2 ReaderReadUpToV2 TFRecordDataset TFRecordDatasetV2 TextLineDataset
        FixedLengthRecordDataset FixedLengthRecordDatasetV2 LoadDataset InitializeTableFromTextFile
        InitializeTableFromTextFileV2 LoadAndRemapMatrix ExperimentalLMDBDataset
        LMDBDataset SqlDataset ExperimentalSqlDataset DecodeProtoV2""".split(),
        _READS,
    ),
    **dict.fromkeys("PyFunc PyFuncStateless EagerPyFunc".split(), _PYTHON),
    **dict.fromkeys(
        """Rpc TryRpc RpcCall RpcClient RpcServer RpcServerStart RpcServerRegister Send Recv
        _Send _Recv _HostSend _HostRecv CollectiveReduce CollectiveReduceV2 CollectiveGather
        CollectiveGatherV2 CollectiveBcastSend CollectiveBcastRecv CollectiveBcastSendV2
        CollectiveBcastRecvV2 CollectiveAllToAllV2 CollectiveAllToAllV3""".split(),
        _NETWORK,
    ),
}
