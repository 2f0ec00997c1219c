"""What each kind of preset is, where ``--weights auto`` looks for one, and how a user makes one.

A preset's ``kind`` (:mod:`tfagiqa.presets`) says what its files hold; every ``--weights`` flag and every
``create_scorer(weights=...)`` names the kinds it accepts, and :func:`tfagiqa.presets.resolve` reads this table
for the messages it prints, the folders ``auto`` looks in, the ImageNet files of the ImageNet backbones and the
inputs a kind accepted before presets existed (``adapter``). Kinds not listed here (a new method's run models)
are still valid presets: :func:`kind` describes them generically.
"""

from __future__ import annotations

from dataclasses import dataclass

LEGACY = "tfagiqa.legacy_weights"


@dataclass(frozen=True)
class Kind:
    """One kind of weights: what it is, how to make it, and how ``auto`` / ``imagenet`` / older inputs find it.

    ``adapter`` (``"module:function"``) reads an input other than a preset folder that this kind accepts (the
    layouts converters and runs wrote before presets, a torchvision ``.pth``, a Hugging Face folder):
    ``function(path, kind) -> Preset | None``. ``imagenet`` names the ImageNet file of a backbone, found in
    Keras' cache (``home="keras"``; Keras may download it there) or torch's hub cache (``home="torch"``).
    ``scheme`` is a prefix whose rest names a preset of another library (``keras-hub:DIR``).
    """

    name: str
    what: str
    make: str
    method: str | None = None
    env: str | None = None
    folders: tuple[str, ...] = ()
    imagenet: str | None = None
    home: str | None = None
    scheme: str | None = None
    adapter: str | None = None


RUN = "python experiments/{script} (trained models go to <out>/models/<name>/)"
KINDS = {k.name: k for k in (
    Kind("clip-rn50", "a converted OpenAI CLIP RN50 (image and text encoders, BPE tokenizer)",
         "tfagiqa convert clip --torch RN50.pt --bpe bpe_simple_vocab_16e6.txt.gz --out weights/clip_rn50 (RN50.pt "
         "from the URL in openai/CLIP clip/clip.py, the BPE file from the same repository)",
         method="ipiqa", env="TFAGIQA_CLIP_DIR", folders=("weights/clip_rn50",), adapter=f"{LEGACY}:clip_folder"),
    Kind("clip-vit", "a keras-hub CLIP ViT preset (CLIPBackbone and CLIPTokenizer)",
         "save the preset once on a machine with internet: keras_hub.models.CLIPBackbone.from_preset("
         "'clip_vit_base_patch16').save_to_preset(DIR) and keras_hub.tokenizers.CLIPTokenizer.from_preset("
         "'clip_vit_base_patch16').save_to_preset(DIR), then pass keras-hub:DIR", method="ipiqa", scheme="keras-hub:"),
    Kind("swinv2", "a converted timm SwinV2 backbone (swinv2.weights.h5)",
         "tfagiqa convert swinv2 --torch swinv2_tiny_patch4_window16_256.pth --out DIR (the checkpoint from the timm / "
         "microsoft Swin-Transformer release linked from the Travois/SF-IQA README)", method="sfiqa",
         adapter=f"{LEGACY}:swinv2_folder"),
    Kind("pickscore", "PickScore_v1 as Hugging Face stores it (config.json, model.safetensors or pytorch_model.bin, "
         "vocab.json, merges.txt)",
         "download yuvalkirstain/PickScore_v1 from huggingface.co into DIR/PickScore_v1 (beside DIR/swinv2.weights.h5)",
         method="sfiqa", adapter=f"{LEGACY}:pickscore_folder"),
    Kind("hyperiqa", "a converted official HyperIQA network (model.keras: normalised crop → score)",
         "tfagiqa convert hyperiqa --torch koniq_pretrained.pkl --out DIR (the checkpoint linked from "
         "github.com/SSL92/hyperIQA)", method="hyperiqa", adapter=f"{LEGACY}:keras_model"),
    Kind("imagereward", "a converted ImageReward (model.keras: image + prompt → BLIP embedding, reward)",
         "tfagiqa convert imagereward --torch ImageReward.pt --vocab vocab.txt --out DIR (ImageReward.pt from "
         "huggingface.co/THUDM/ImageReward, vocab.txt from huggingface.co/bert-base-uncased)", method="imagereward",
         adapter=f"{LEGACY}:keras_model"),
    Kind("hps", "a converted HPS v1 / v2 CLIP (clip.weights.h5, BPE tokenizer)",
         "tfagiqa convert hps --torch CHECKPOINT --version v1|v2 --bpe bpe_simple_vocab_16e6.txt.gz --out DIR (v1: "
         "hpc.pt, linked from github.com/tgxs002/align_sd; v2: HPS_v2*_compressed.pt from huggingface.co/xswu/HPSv2)",
         method="hps", env="TFAGIQA_HPS_DIR", adapter=f"{LEGACY}:hps_folder"),
    Kind("clipiqa+", "a converted CLIP-IQA+ scorer (CLIP RN50 with the learned prompts, model.keras)",
         "tfagiqa convert clipiqa+ --torch CLIP-IQA+_learned_prompts-603f3273.pth --clip CLIP_DIR --out DIR (the "
         ".pth from the v0.1-weights release of chaofengc/IQA-PyTorch; CLIP_DIR from tfagiqa convert clip --bpe)",
         method="clipiqa", adapter=f"{LEGACY}:clipiqa_plus_folder"),
    Kind("cnniqa", "a CNNIQA scorer (model.keras: images in [0, 255] → quality), converted or trained on a split",
         "tfagiqa convert cnniqa --torch CHECKPOINT --out DIR (pyiqa's CNNIQA_koniq10k-*.pth from the v0.1-weights "
         "release of github.com/chaofengc/IQA-PyTorch, or a lidq92/CNNIQA state dict saved by its main.py), or the "
         "cnniqa benchmark adapter (<workdir>/cnniqa/)", method="cnniqa", adapter=f"{LEGACY}:keras_model"),
    Kind("dbcnn", "a DBCNN scorer (model.keras: images in [0, 255] → quality), converted or trained on a split",
         "tfagiqa convert dbcnn --torch CHECKPOINT --out DIR (pyiqa's DBCNN_LIVEC-*.pth, DBCNN_KonIQ10k-*.pth, … "
         "from the v0.1-weights release of github.com/chaofengc/IQA-PyTorch, or a zwx8981/DBCNN-PyTorch state dict "
         "saved with torch.save(net.state_dict())), or the dbcnn benchmark adapter (<workdir>/dbcnn/)",
         method="dbcnn", adapter=f"{LEGACY}:keras_model"),
    Kind("vgg16", "Keras' ImageNet VGG16 weights (or another .h5 of that network)",
         "run once on a machine with internet (Keras caches the file in ~/.keras/models/), or, offline, download "
         "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
         "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 and put it at ~/.keras/models/"
         "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, or pass the file's path",
         method="dbcnn", imagenet="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", home="keras",
         adapter=f"{LEGACY}:keras_h5"),
    Kind("resnet152v2", "Keras' ImageNet ResNet152V2 weights (or another .h5 of that network)",
         "run once on a machine with internet (Keras caches the file), or download "
         "resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5 from the keras-applications release",
         method="dlsr", imagenet="resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5", home="keras",
         adapter=f"{LEGACY}:keras_h5"),
    Kind("resnet50", "Keras' ImageNet ResNet50 weights (or another .h5 of that network)",
         "run once on a machine with internet (Keras caches the file), or download "
         "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 from the keras-applications release",
         method="baselines", imagenet="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", home="keras",
         adapter=f"{LEGACY}:keras_h5"),
    Kind("keras-applications", "a Keras-applications backbone's ImageNet weights (or a .h5 of that network)",
         "run once on a machine with internet (Keras caches the file in its models/ folder), or pass a .h5 file",
         home="keras", adapter=f"{LEGACY}:keras_h5"),
    Kind("torchvision-resnet50", "torchvision's ImageNet ResNet-50 (resnet50-19c8e357.pth)",
         "download resnet50-19c8e357.pth (https://download.pytorch.org/models/resnet50-19c8e357.pth, the file the "
         "official HyperIQA code loads) into ~/.cache/torch/hub/checkpoints/ or <data-root>/weights/, or pass its "
         "path; loading it needs torch (pip install 'tfagiqa[torch]')", method="hyperiqa",
         imagenet="resnet50-19c8e357.pth", home="torch", adapter=f"{LEGACY}:torch_file"),
    Kind("keras-hub-text", "a local keras-hub text backbone preset (BERT-style, with its preprocessor)",
         "save one with keras_hub on a machine with internet (Backbone.from_preset(NAME).save_to_preset(DIR) and "
         "the preprocessor likewise) and pass keras-hub:DIR", method="hyperiqa", scheme="keras-hub:"),
    Kind("scorer", "a complete scoring model saved as .keras (inputs images [+ prompt] → named scores)",
         "save one with model.save('scorer.keras'), or save_preset(DIR, kind='scorer', files={'model': model})",
         adapter=f"{LEGACY}:keras_model"),
    Kind("image2prompt", "an Image2Prompt-pretrained CLIP image encoder",
         "python experiments/pretrain_image2prompt.py --weights CLIP_DIR --out DIR (writes DIR/image_encoder.keras)",
         method="ipiqa", adapter=f"{LEGACY}:keras_model"),
    Kind("dlsr-head", "a DLSR head trained by run_dlsr.py (its backbone recorded beside it)",
         RUN.format(script="run_dlsr.py"), method="dlsr", adapter=f"{LEGACY}:keras_model"),
    Kind("ipiqa-scorer", "an IP-IQA scorer trained by run_ipiqa.py (prompts tokenized inside)",
         RUN.format(script="run_ipiqa.py"), method="ipiqa", adapter=f"{LEGACY}:keras_model"),
    Kind("ipiqa-model", "an IP-IQA model trained by run_ipiqa.py (token ids in)", RUN.format(script="run_ipiqa.py"),
         method="ipiqa", adapter=f"{LEGACY}:keras_model"),
    Kind("ipiqa-baseline", "a ResNet50 baseline trained by run_ipiqa.py --baseline",
         RUN.format(script="run_ipiqa.py --baseline resnet50"), method="ipiqa", adapter=f"{LEGACY}:keras_model"),
    Kind("sfiqa-quality", "an SF-IQA quality branch trained by run_sfiqa.py", RUN.format(script="run_sfiqa.py"),
         method="sfiqa", adapter=f"{LEGACY}:keras_model"),
    Kind("sfiqa-similarity", "an SF-IQA similarity branch trained by run_sfiqa.py", RUN.format(script="run_sfiqa.py"),
         method="sfiqa", adapter=f"{LEGACY}:keras_model"),
    Kind("sfiqa-fusion", "an SF-IQA score-fusion network trained by run_sfiqa.py (it names its two branches)",
         RUN.format(script="run_sfiqa.py --target overall"), method="sfiqa",
         adapter="tfagiqa.methods.sfiqa.scorers:fusion_in_run"),
    Kind("sfiqa-detached", "SF-IQA's detached-ISFE model (Table 3) trained by run_sfiqa.py",
         RUN.format(script="run_sfiqa.py --ablation isfe"), method="sfiqa", adapter=f"{LEGACY}:keras_model"),
    Kind("hyperiqa-model", "a Hypernet AGIQA network trained by run_hypernet.py", RUN.format(script="run_hypernet.py"),
         method="hyperiqa", adapter=f"{LEGACY}:keras_model"),
)}


def kind(name: str) -> Kind:
    """The registered kind ``name``, or a generic description of an unregistered one (a new method's run model)."""
    return KINDS.get(name) or Kind(name, f"a {name} preset", "the command that wrote it (see its config.json)")
