module Scalor.Tests.Torch

open Expecto
open TorchSharp

[<Tests>]
let tests =
    testList "TorchSharp" [
        testCase "native library loads and computes (GLIBCXX fix applied to the build output)" <| fun () ->
            use x = torch.arange(6L, dtype = torch.float32).reshape(1L, 1L, 2L, 3L)
            use w = torch.ones(1L, 1L, 1L, 2L)
            use y = torch.nn.functional.conv2d(x, w)
            Expect.sequenceEqual (y.data<float32>().ToArray()) [| 1f; 3f; 7f; 9f |] "1×2 box filter"
    ]
